/** What `plot --format` writes: svg and png images; json: the Vega-Lite spec with every number the figure draws (`<stem>.vl.json`, opens in the Vega editor). */
export const IMAGE_FORMATS = ['svg', 'png', 'json'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** The file name `plot` writes a figure to in each format: what it writes, named in one place (the output checks use it too). */
export const FORMAT_SUFFIXES: Readonly<Record<ImageFormat, string>> = { svg: '.svg', png: '.png', json: '.vl.json' };

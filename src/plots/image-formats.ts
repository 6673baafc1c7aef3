/** What `plot --format` writes: svg and png images; json: the Vega-Lite spec with every number the figure draws (`<stem>.vl.json`, opens in the Vega editor). */
export const IMAGE_FORMATS = ['svg', 'png', 'json'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

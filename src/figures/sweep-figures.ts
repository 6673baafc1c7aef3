/**
 * The figures of a sweep (`resid-norms sweep`), drawn from its summary (src/sweep/sweep-summary.ts):
 *   growth-vs-step       fitted growth per layer (95% CI) against the training step (symlog x:
 *                        step0 stays on the axis), one line per model
 *   growth-vs-size       the same against parameters (log x) and against depth (nLayers)
 *   position0-vs-step    mean norm at position 0 against the step, at the first, middle and
 *                        last layer
 *   profiles             every member's mean norm per layer overlaid (log y), coloured by step
 *                        for checkpoint sweeps; rescaled by 1/√d_model and against relative
 *                        depth as `compare` does
 * Builders are pure: the same summary and options give the same Vega-Lite spec.
 */
import type { FigureOptions, FigureOutcome } from './figure-types.js';
import { logScaleAxis } from './log-axis.js';
import type { ColorChannel, Layer, PositionChannel, TooltipChannel, Unit } from './spec-types.js';
import { CATEGORY_COLORS, finishSpec, SEQUENTIAL_SCHEME } from './theme.js';
import type { MemberSummary, SweepSummary } from '../results/sweep-schema.js';

export const SWEEP_FIGURES = ['growth-vs-step', 'growth-vs-size', 'position0-vs-step', 'profiles'] as const;
export type SweepFigureName = (typeof SWEEP_FIGURES)[number];

export const SWEEP_FIGURE_SUMMARIES: Record<SweepFigureName, string> = {
  'growth-vs-step': 'fitted growth per layer (95% CI) against the training step (stepN revisions), one line per model',
  'growth-vs-size': 'fitted growth per layer (95% CI) against parameters and against depth',
  'position0-vs-step': 'mean norm at position 0 against the training step, first, middle and last layer',
  profiles: 'mean norm per layer of every member overlaid (--rescale sqrt-d, --x relative-depth)',
};

type Measured = MemberSummary & Required<Pick<MemberSummary, 'growth' | 'profile' | 'position0' | 'nLayers' | 'dModel' | 'parameters'>>;

const measured = (summary: SweepSummary): Measured[] =>
  summary.members.filter((member): member is Measured => member.status === 'measured' && member.growth !== undefined && member.profile !== undefined);
/** The model a member is a revision of: its spec without @revision. */
const modelOf = (member: MemberSummary): string => member.spec.replace(/@[^@]*$/, '');
const round = (value: number) => Number(value.toPrecision(6));

function subtitle(
  summary: SweepSummary,
  drawn: number,
  what = `${drawn} of ${summary.members.length} members${summary.counts.measured < summary.members.length ? ` (${summary.members.length - summary.counts.measured} not measured)` : ''}`,
): string[] {
  return [
    `${summary.hook}, primary metric · ${what}`,
    `prompts: ${summary.prompts.source.length > 90 ? `${summary.prompts.source.slice(0, 89)}…` : summary.prompts.source} (${summary.prompts.count}, sha256 ${summary.prompts.sha256.slice(0, 12)}…)`,
  ];
}

const STEP_X: PositionChannel = {
  field: 'step',
  type: 'quantitative',
  title: 'training step (symlog axis)',
  scale: { type: 'symlog', constant: 1 },
  axis: { values: [0, 1, 10, 100, 1000, 10000, 100000], labelExpr: "datum.value >= 1000 ? format(datum.value / 1000, '~g') + 'k' : format(datum.value, '~g')" },
};
const GROWTH_Y: PositionChannel = { field: 'growth', type: 'quantitative', title: 'fitted growth per layer (×)', scale: { zero: false } };

function modelColor(models: readonly string[]): ColorChannel {
  return {
    field: 'model',
    type: 'nominal',
    title: 'model',
    scale: { domain: [...models], range: models.map((_, i) => CATEGORY_COLORS[i % CATEGORY_COLORS.length]!) },
  };
}

function growthRows(members: readonly Measured[]) {
  return members.map((member) => ({
    member: member.spec,
    model: modelOf(member),
    step: member.step,
    parameters: member.parameters,
    nLayers: member.nLayers,
    growth: round(member.growth.factor),
    low: round(member.growth.ciLow),
    high: round(member.growth.ciHigh),
    layers: `${member.growth.fromLayer}–${member.growth.toLayer}`,
  }));
}

const TOOLTIP: TooltipChannel[] = [
  { field: 'member', title: 'member' },
  { field: 'growth', title: 'growth ×', format: '.4f' },
  { field: 'low', title: 'CI low', format: '.4f' },
  { field: 'high', title: 'CI high', format: '.4f' },
  { field: 'layers', title: 'layers fitted' },
];

/** Points with CI bars (and a line through them when `line`), on the given x. */
function growthLayers(x: PositionChannel, color: ColorChannel, line: boolean): Unit[] {
  const through: Unit[] = line ? [{ mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y: GROWTH_Y, color } }] : [];
  return [
    ...through,
    { mark: { type: 'rule', strokeWidth: 1.2 }, encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color } },
    { mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y: GROWTH_Y, color, tooltip: TOOLTIP } },
  ];
}

function growthVsStep(summary: SweepSummary): FigureOutcome {
  const members = measured(summary).filter((member) => member.step !== null);
  if (members.length === 0)
    return { drawn: false, reason: 'no measured member has a training-step revision (stepN); sweep e.g. --model pythia-70m --revisions pythia-log' };
  const rows = growthRows(members).sort((a, b) => a.model.localeCompare(b.model) || a.step! - b.step!);
  const models = [...new Set(rows.map((row) => row.model))];
  return {
    drawn: true,
    spec: finishSpec({
      title: { text: 'growth of the residual stream per layer over training', subtitle: subtitle(summary, members.length) },
      width: 560,
      height: 320,
      data: { values: rows },
      layer: growthLayers(STEP_X, modelColor(models), true),
    }),
  };
}

function growthVsSize(summary: SweepSummary): FigureOutcome {
  // One point per model: the member without a step, or its last checkpoint.
  const byModel = new Map<string, Measured>();
  for (const member of measured(summary)) {
    const held = byModel.get(modelOf(member));
    if (held === undefined || (member.step ?? Infinity) > (held.step ?? Infinity)) byModel.set(modelOf(member), member);
  }
  const members = [...byModel.values()];
  if (new Set(members.map((member) => member.parameters)).size < 2)
    return { drawn: false, reason: 'fewer than two model sizes were measured; sweep e.g. --models pythia-70m,pythia-160m,pythia-410m' };
  const rows = growthRows(members).sort((a, b) => a.parameters - b.parameters);
  const color = modelColor(rows.map((row) => row.model));
  const estimated = members.some((member) => member.parametersEstimated);
  const panel = (x: PositionChannel): Layer => ({ width: 300, height: 300, layer: growthLayers(x, color, false) });
  return {
    drawn: true,
    spec: finishSpec({
      title: {
        text: 'growth of the residual stream per layer against model size',
        subtitle: subtitle(summary, members.length, `${members.length} models, each at its last checkpoint`),
      },
      data: { values: rows },
      hconcat: [
        panel({
          field: 'parameters',
          type: 'quantitative',
          title: estimated ? 'parameters (≈ 12 · nLayers · d_model², log axis)' : 'parameters (log axis)',
          scale: { type: 'log' },
          axis: { format: '~s' },
        }),
        panel({ field: 'nLayers', type: 'quantitative', title: 'depth (nLayers)', scale: { zero: false, nice: false, padding: 10 }, axis: { format: 'd' } }),
      ],
    }),
  };
}

function position0VsStep(summary: SweepSummary): FigureOutcome {
  const members = measured(summary).filter((member) => member.step !== null);
  if (members.length === 0) return { drawn: false, reason: 'no measured member has a training-step revision (stepN)' };
  const rows = members
    .flatMap((member) => {
      const last = member.nLayers - 1;
      // First, middle and last layer of each model, named by their place so models of other depths share a colour.
      const places: Array<[string, number, number]> = [
        ['first layer', 0, 0],
        ['middle layer', 1, Math.floor(last / 2)],
        ['last layer', 2, last],
      ];
      return places.map(([place, order, layer]) => ({
        member: member.spec,
        model: modelOf(member),
        step: member.step,
        layer: place,
        index: layer,
        order,
        norm: round(member.position0[layer] ?? 0),
      }));
    })
    .filter((row) => row.norm > 0)
    .sort((a, b) => a.model.localeCompare(b.model) || a.order - b.order || a.step! - b.step!);
  const layerNames = [...new Set([...rows].sort((a, b) => a.order - b.order).map((row) => row.layer))];
  const models = [...new Set(rows.map((row) => row.model))];
  const y: PositionChannel = {
    field: 'norm',
    type: 'quantitative',
    title: `mean ‖${summary.hook}‖₂ at position 0`,
    ...logScaleAxis(rows.map((row) => row.norm)),
  };
  const color: ColorChannel = {
    field: 'layer',
    type: 'nominal',
    title: 'layer',
    sort: layerNames,
    scale: { domain: layerNames, range: layerNames.map((_, i) => CATEGORY_COLORS[(i * 3) % CATEGORY_COLORS.length]!) },
  };
  return {
    drawn: true,
    spec: finishSpec({
      title: { text: 'norm at position 0 over training', subtitle: subtitle(summary, members.length) },
      width: 560,
      height: 320,
      data: { values: rows },
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: STEP_X,
            y,
            color,
            detail: { field: 'model' },
            ...(models.length > 1 ? { strokeDash: { field: 'model', type: 'nominal', title: 'model' } } : {}),
          },
        },
        {
          mark: { type: 'point', opacity: 0 },
          encoding: { x: STEP_X, y, tooltip: [{ field: 'member' }, { field: 'index', title: 'layer' }, { field: 'norm', format: ',.4~g' }] },
        },
      ],
    }),
  };
}

function profiles(summary: SweepSummary, options: Pick<FigureOptions, 'rescale' | 'x'>): FigureOutcome {
  const members = measured(summary);
  if (members.length === 0) return { drawn: false, reason: 'no member is measured yet' };
  const relative = options.x === 'relative-depth';
  const rows = members.flatMap((member) => {
    const scale = options.rescale === 'sqrt-d' ? 1 / Math.sqrt(member.dModel) : 1;
    return member.profile
      .map((norm, layer) => ({ member: member.spec, step: member.step, x: relative ? round(layer / member.nLayers) : layer, norm: round(norm * scale) }))
      .filter((row) => row.norm > 0);
  });
  const bySteps = members.every((member) => member.step !== null) && new Set(members.map(modelOf)).size === 1;
  const color: ColorChannel = bySteps
    ? { field: 'step', type: 'quantitative', title: 'training step', scale: { type: 'symlog', constant: 1, scheme: SEQUENTIAL_SCHEME } }
    : { field: 'member', type: 'nominal', title: 'member', scale: { domain: members.map((member) => member.spec), range: CATEGORY_COLORS } };
  const x: PositionChannel = relative
    ? { field: 'x', type: 'quantitative', title: 'relative depth (layer / nLayers)', scale: { domain: [0, 1], nice: false }, axis: { format: '.1f' } }
    : { field: 'x', type: 'quantitative', title: 'layer', scale: { nice: false }, axis: { tickMinStep: 1, format: 'd' } };
  const y: PositionChannel = {
    field: 'norm',
    type: 'quantitative',
    title: `mean ‖${summary.hook}‖₂${options.rescale === 'sqrt-d' ? ' / √d_model' : ''}`,
    ...logScaleAxis(rows.map((row) => row.norm)),
  };
  return {
    drawn: true,
    spec: finishSpec({
      title: { text: `mean ‖${summary.hook}‖₂ per layer, ${members.length} members overlaid`, subtitle: subtitle(summary, members.length) },
      width: 560,
      height: 340,
      data: { values: rows },
      mark: { type: 'line', strokeWidth: 1.4, opacity: 0.85 },
      encoding: {
        x,
        y,
        color,
        detail: { field: 'member' },
        tooltip: [{ field: 'member' }, { field: 'x', title: relative ? 'relative depth' : 'layer' }, { field: 'norm', format: ',.4~g' }],
      },
    }),
  };
}

export function buildSweepFigure(name: SweepFigureName, summary: SweepSummary, options: Pick<FigureOptions, 'rescale' | 'x'>): FigureOutcome {
  switch (name) {
    case 'growth-vs-step':
      return growthVsStep(summary);
    case 'growth-vs-size':
      return growthVsSize(summary);
    case 'position0-vs-step':
      return position0VsStep(summary);
    case 'profiles':
      return profiles(summary, options);
  }
}

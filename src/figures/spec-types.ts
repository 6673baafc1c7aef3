/**
 * Vega-Lite's own types for the pieces figure builders put together, so a misspelled property
 * or a value of the wrong kind in a spec is a compile error. Types only (`import type`):
 * vega-lite is loaded at run time by src/rendering/render.ts alone.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Axis } from 'vega-lite/types_unstable/axis.js';
import type { ColorDef, Field, PositionFieldDef, StringFieldDef } from 'vega-lite/types_unstable/channeldef.js';
import type { Data } from 'vega-lite/types_unstable/data.js';
import type { Encoding } from 'vega-lite/types_unstable/encoding.js';
import type { Legend } from 'vega-lite/types_unstable/legend.js';
import type { ExprRef } from 'vega-lite/types_unstable/expr.js';
import type { SignalRef } from 'vega';
import type { Scale, SchemeParams } from 'vega-lite/types_unstable/scale.js';
import type { SelectionParameter } from 'vega-lite/types_unstable/selection.js';
import type { LayerSpec, UnitSpec, UnitSpecWithFrame } from 'vega-lite/types_unstable/spec/index.js';
import type { Transform } from 'vega-lite/types_unstable/transform.js';

export type { TopLevelSpec };

/** One mark with its encoding. */
export type Unit = UnitSpec<Field>;
/** A unit with its own width and height: a panel of a concatenation. */
export type FramedUnit = UnitSpecWithFrame<Field>;
/** Marks (and layers) drawn over each other on shared axes. */
export type Layer = LayerSpec<Field>;
/** What a layer holds. */
export type LayerMember = Layer | Unit;

/** A unit's channels. */
export type Channels = NonNullable<Unit['encoding']>;
/** The definition of one encoding channel, e.g. `ChannelDef<'opacity'>`. */
export type ChannelDef<C extends keyof Encoding<Field>> = NonNullable<Encoding<Field>[C]>;
/** An x or y channel bound to a field, with its scale and axis. */
export type PositionChannel = PositionFieldDef<Field>;
export type ColorChannel = ColorDef<Field>;
/** One field of a tooltip. */
export type TooltipChannel = StringFieldDef<Field>;

/** A point or interval selection (legend pick, x zoom). */
export type Selection = SelectionParameter;
export type ScaleProperties = Scale;
export type AxisProperties = Axis;
export type LegendProperties = Legend<ExprRef | SignalRef>;
export type ColorScheme = SchemeParams;
/** A unit's or layer's own data and transforms. */
export type SpecData = Data;
export type SpecTransform = Transform;

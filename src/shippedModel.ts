// The one place that names the model the app ships (models/<name>/) and its full-precision twin, which
// the Node tests, benchmarks and evaluation use. vite.config.ts, the store and the e2e tests read it.
export const SHIPPED_MODEL = 'dare-osnet-fp16';
export const REFERENCE_MODEL = 'dare-osnet';
/** The multi-resolution model (contract format 2: three exits, each computed from the input at its own
 * size): the engine's tests and benchmarks run it beside the reference model, so both contract formats
 * stay working whichever one ships. */
export const FORMAT2_MODEL = 'dare-osnet-mr3';

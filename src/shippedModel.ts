// The one place that names the model the app ships (models/<name>/) and its full-precision twin, which
// the Node tests, benchmarks and evaluation use. vite.config.ts, the store and the e2e tests read it.
export const SHIPPED_MODEL = 'dare-osnet-mr2-long-d3-fp16';
export const REFERENCE_MODEL = 'dare-osnet-mr2-long-d3';
/** The engine's tests run one model of each contract format, whichever one ships: a chain of exits, each
 * fed by the one before (format 1), and exits each computed from the input at its own size (format 2). */
export const FORMAT1_MODEL = 'dare-osnet';
export const FORMAT2_MODEL = 'dare-osnet-mr2-long-d3';

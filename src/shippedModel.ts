// The one place that names the model the app ships (models/<name>/) and its full-precision twin, which
// the Node tests, benchmarks and evaluation use. vite.config.ts, the store and the e2e tests read it.
export const SHIPPED_MODEL = 'dare-osnet-fp16';
export const REFERENCE_MODEL = 'dare-osnet';

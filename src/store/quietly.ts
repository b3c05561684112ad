/** Runs `fn`, turning a throw (synchronous or not) into `fallback`: for best-effort storage calls. */
export async function quietly<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await fn();
  } catch {
    return fallback;
  }
}

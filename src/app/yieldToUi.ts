/** Lets the browser paint and handle input between two pieces of long work. */
export function yieldToUi(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

import type { ReidLabel } from '../protocol';

/** What an image is shown as: its person's identity, or "junk" / "distractor" for an image of nobody. */
export const labelCaption = (label: ReidLabel): string => (label.kind === 'person' ? label.identity : label.kind);

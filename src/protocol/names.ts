// Naming an image from its path: the dataset file-name conventions first (they carry the camera), then
// the parent folder, else the user must type an identity. One definition, used by the app, the
// benchmarks and the e2e helpers; training/dare/protocol.py follows it and cases.json tests both.
import type { ImageLabel, LabelKind, ReidLabel } from './labels';

interface FileNameRule {
  rule: 'market1501' | 'dukemtmc' | 'msmt17';
  /** Group 1: identity; group 2: camera. */
  pattern: RegExp;
  /** Identities with a meaning of their own in this dataset. */
  kindOf(identity: string): LabelKind;
}

const person = (): LabelKind => 'person';

const FILE_NAME_RULES: readonly FileNameRule[] = [
  // PPPP_cCsS_FFFFFF_BB: person (-1 junk, 0000 distractor), camera, sequence, frame, box. A doubled
  // extension ('….jpg.jpg', as 24 images of the usual copy have) is still that name.
  {
    rule: 'market1501',
    pattern: /^(-1|\d{4})_c([1-9])s\d_\d{6}_\d{2}\.(?:jpe?g|png)(?:\.jpe?g)?$/i,
    kindOf: (identity) => (identity === '-1' ? 'junk' : identity === '0000' ? 'distractor' : 'person'),
  },
  // PPPP_cC_fFFFFFFF: person, camera 1–8, frame.
  { rule: 'dukemtmc', pattern: /^(\d{4})_c([1-8])_f\d{7}\.(?:jpe?g|png)$/i, kindOf: person },
  // PPPP_cCC_NNNN: person (0000 is a person here), camera 1–15, image number.
  { rule: 'msmt17', pattern: /^(\d{4})_c(1[0-5]|[1-9])_\d{4,}\.(?:jpe?g|png)$/i, kindOf: person },
];

/** Path segments, whichever separator the platform used. */
const segments = (path: string): string[] => path.split(/[/\\]/);

/** The label a path gives by itself: a dataset file name, else (for a file added inside a folder, a
 * path like 'people/alice/1.jpg') the parent folder's name; null when neither names it. */
export function parseImageName(path: string): ImageLabel | null {
  const parts = segments(path);
  const base = parts[parts.length - 1];
  for (const { rule, pattern, kindOf } of FILE_NAME_RULES) {
    const m = pattern.exec(base);
    if (m) return { identity: m[1], camera: Number(m[2]), kind: kindOf(m[1]), rule };
  }
  const folder = parts.length > 1 ? parts[parts.length - 2].trim() : '';
  return folder ? { identity: folder, camera: null, kind: 'person', rule: 'folder' } : null;
}

/** Why an image could not be named, for the user. */
export const UNNAMED_MESSAGE =
  'its name follows no known naming rule (a Market-1501, DukeMTMC-reID or MSMT17 file name, like 0002_c1s1_000451_03.jpg, or a folder per person), so its identity is unknown. Type an identity, then add it again.';

/** The label of an image being added: a typed identity wins (a person, camera unknown), else the path's. */
export function nameImage(path: string, typedIdentity: string): ImageLabel | null {
  const typed = typedIdentity.trim();
  return typed ? { identity: typed, camera: null, kind: 'person', rule: 'typed' } : parseImageName(path);
}

/**
 * The label of a stored gallery entry. Entries keep only identity, camera and file name (galleries saved
 * before the protocol existed included), so the kind and rule are read again from the name: when the name
 * gives the entry's identity, that rule named it; otherwise the identity was typed (or enrolled).
 */
export function labelOf(entry: { identity: string; camera: number | null; fileName: string }): ImageLabel {
  const parsed = parseImageName(entry.fileName);
  if (parsed && parsed.identity === entry.identity) return { ...parsed, camera: entry.camera };
  return { identity: entry.identity, camera: entry.camera, kind: 'person', rule: 'typed' };
}

/** Only persons are people: the distinct person identities among `labels`. */
export function countPeople(labels: Iterable<ReidLabel>): number {
  const people = new Set<string>();
  for (const l of labels) if (l.kind === 'person') people.add(l.identity);
  return people.size;
}

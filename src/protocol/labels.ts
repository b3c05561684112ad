// What the re-ID protocol knows of an image: whose it is (or that it is nobody's), from which camera, and
// which naming rule said so.

/** A person; a Market-1501 distractor (identity 0000: a detection of nobody in the query set); or
 * Market-1501 junk (identity -1: a bad detection). Only persons are people. */
export type LabelKind = 'person' | 'distractor' | 'junk';

/** The rule that named an image: a dataset's file-name convention, the parent folder's name (one folder
 * per person, as torchvision's ImageFolder), or an identity the user typed (or enrolled from the webcam). */
export type NameRule = 'market1501' | 'dukemtmc' | 'msmt17' | 'folder' | 'typed';

export interface ReidLabel {
  identity: string;
  /** Camera number, or null when the rule does not say. */
  camera: number | null;
  kind: LabelKind;
}

export interface ImageLabel extends ReidLabel {
  rule: NameRule;
}

/** How the UI names each rule. */
export const NAME_RULE_TITLES: Record<NameRule, string> = {
  market1501: 'Market-1501 file name',
  dukemtmc: 'DukeMTMC-reID file name',
  msmt17: 'MSMT17 file name',
  folder: 'folder name',
  typed: 'typed identity',
};

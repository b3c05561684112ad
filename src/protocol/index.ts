// Public API of src/protocol: the re-ID protocol, one definition for the app, bench/ and e2e/ (and, through
// cases.json, training/dare/protocol.py). No React, no DOM.
//
//   parseImageName('0002_c1s1_000451_03.jpg')   // { identity: '0002', camera: 1, kind: 'person', rule: 'market1501' }
//   nameImage(path, typedIdentity)               // the label of an image being added, or null (UNNAMED_MESSAGE)
//   labelOf(entry)                               // the label of a stored gallery entry (old galleries included)
//   countPeople(labels)                          // distinct persons: junk and distractors are nobody
//   pairKind(a, b)                               // 'same' | 'different' | null (the pair does not count)
//   budgetPoints(costs, n); routeStream(signals, costs, budget, policy, seed)
export { NAME_RULE_TITLES, type ImageLabel, type LabelKind, type NameRule, type ReidLabel } from './labels';
export { countPeople, labelOf, nameImage, parseImageName, UNNAMED_MESSAGE } from './names';
export { isQuery, pairKind, type PairKind } from './pairs';
export { budgetPoints, routeStream, type RoutedQuery, type RoutedStream } from './budget';

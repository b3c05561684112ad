// Mirror of the query service (src/app/queryService.ts). The search runs again, shortly after the last
// of a burst of changes, when the budget, flip, k, re-ranking, the gallery or the engine change.

import { create } from 'zustand';
import type { QueryServiceState } from '../app/queryService';
import { SEARCH } from '../config';
import { engineHost, gallerySession, queryService } from '../services';
import { useSettings } from './settings';

export type { QueryImage, QueryOutcome } from '../app/queryService';

interface QueryState extends QueryServiceState {
  search(file: File): Promise<void>;
  /** Searches again with the current settings (no-op without a query image or a ready engine). */
  rerun(): Promise<void>;
}

export const useQuery = create<QueryState>()(() => ({
  ...queryService.state,
  search: (file) => queryService.search(file),
  rerun: () => queryService.rerun(),
}));

queryService.subscribe((state) => useQuery.setState(state));

let timer: ReturnType<typeof setTimeout> | undefined;
function rerunSoon(): void {
  clearTimeout(timer);
  timer = setTimeout(() => void queryService.rerun(), SEARCH.rerunDelayMs);
}

useSettings.subscribe((s, prev) => {
  if (s.budgetMs !== prev.budgetMs || s.flip !== prev.flip || s.topK !== prev.topK || s.rerank !== prev.rerank) rerunSoon();
});
gallerySession.subscribe((s, prev) => {
  // Not after every image of an upload: once it is done.
  if (!s.job && (s.version !== prev.version || prev.job)) rerunSoon();
});
engineHost.subscribe((s, prev) => {
  if (s.status === 'ready' && prev.status !== 'ready') rerunSoon();
});

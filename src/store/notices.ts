// Messages for the user: errors (bad input, failed downloads, storage problems) and notes (an image that
// was accepted but changed, e.g. transparency flattened). Each stays until dismissed.

import { create } from 'zustand';

export type NoticeLevel = 'error' | 'note';

export interface Notice {
  id: number;
  level: NoticeLevel;
  message: string;
}

interface NoticesState {
  notices: Notice[];
  report(level: NoticeLevel, message: string): void;
  dismiss(id: number): void;
  dismissAll(level: NoticeLevel): void;
}

/** Identical messages are kept once: a folder of 500 bad files should not give 500 lines of the same text. */
const MAX_NOTICES = 50;
let nextId = 1;

export const useNotices = create<NoticesState>()((set) => ({
  notices: [],
  report: (level, message) =>
    set((s) => {
      const others = s.notices.filter((n) => !(n.level === level && n.message === message));
      return { notices: [...others, { id: nextId++, level, message }].slice(-MAX_NOTICES) };
    }),
  dismiss: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
  dismissAll: (level) => set((s) => ({ notices: s.notices.filter((n) => n.level !== level) })),
}));

export const reportError = (message: string): void => useNotices.getState().report('error', message);
export const reportNote = (message: string): void => useNotices.getState().report('note', message);

// Errors (bad input, failed downloads, storage problems) and notes, each until dismissed.

import { useNotices, type Notice, type NoticeLevel } from '../store/notices';

function NoticeList({ level, notices }: { level: NoticeLevel; notices: Notice[] }) {
  const { dismiss, dismissAll } = useNotices();
  if (notices.length === 0) return null;
  const isError = level === 'error';
  return (
    <div className={`notices notices-${level}`} data-testid={level} role={isError ? 'alert' : 'status'}>
      <ul>
        {notices.map((n) => (
          <li key={n.id}>
            <span>{n.message}</span>
            <button type="button" className="inline" onClick={() => dismiss(n.id)} aria-label="Dismiss this message">
              ×
            </button>
          </li>
        ))}
      </ul>
      {notices.length > 1 && (
        <button type="button" className="inline" onClick={() => dismissAll(level)}>
          Dismiss all
        </button>
      )}
    </div>
  );
}

export function Notices() {
  const notices = useNotices((s) => s.notices);
  return (
    <div className="notices-area">
      <NoticeList level="error" notices={notices.filter((n) => n.level === 'error')} />
      <NoticeList level="note" notices={notices.filter((n) => n.level === 'note')} />
    </div>
  );
}

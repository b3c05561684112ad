import { lazy, Suspense, useState } from 'react';
import { BudgetPanel } from './BudgetPanel';
import { EnginePanel } from './EnginePanel';
import { GalleryPanel } from './GalleryPanel';
import { HubView } from './hub/HubView';
import { Notices } from './Notices';
import { OfflineState } from './OfflineState';
import { QueryPanel } from './QueryPanel';
import { StreamPanel } from './stream/StreamPanel';

// Loaded when first opened: the person detector and its UI are not needed to search images.
const WebcamView = lazy(() => import('./webcam/WebcamView').then((m) => ({ default: m.WebcamView })));

type View = 'search' | 'webcam' | 'hub';
const VIEWS: { id: View; label: string }[] = [
  { id: 'search', label: 'Gallery & search' },
  { id: 'webcam', label: 'Webcam' },
  { id: 'hub', label: 'Hub' },
];

export function App() {
  const [view, setView] = useState<View>('search');
  return (
    <>
      <header className="app-header">
        <h1>Anytime Re-ID</h1>
        <p className="muted">
          Person re-identification in your browser that always answers within your time budget (DaRe: each of the network’s stages
          yields an embedding, so a query stops at the deepest stage the budget affords). Nothing leaves this device unless you join it to a hub of your own (the Hub tab).
        </p>
        <OfflineState />
      </header>
      <Notices />
      <main className="layout">
        <div className="column side">
          <EnginePanel />
          <BudgetPanel />
        </div>
        <div className="column main">
          <div role="tablist" aria-label="Views" className="tabs">
            {VIEWS.map((v) => (
              <button
                key={v.id}
                type="button"
                role="tab"
                id={`tab-${v.id}`}
                aria-selected={view === v.id}
                aria-controls={`view-${v.id}`}
                className={view === v.id ? 'tab selected' : 'tab'}
                onClick={() => setView(v.id)}
              >
                {v.label}
              </button>
            ))}
          </div>
          <div role="tabpanel" id={`view-${view}`} aria-labelledby={`tab-${view}`} className="column">
            {view === 'search' && (
              <>
                <QueryPanel />
                <GalleryPanel />
                <StreamPanel />
              </>
            )}
            {view === 'webcam' && (
              <Suspense fallback={<p className="muted">Loading the webcam view…</p>}>
                <WebcamView />
              </Suspense>
            )}
            {view === 'hub' && <HubView />}
          </div>
        </div>
      </main>
    </>
  );
}

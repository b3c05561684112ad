import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { useEngine } from './store/engine';
import { useGallery } from './store/gallery';
import { useOffline } from './store/offline';
import { useSettings } from './store/settings';
import { hubService } from './services';
import { App } from './ui/App';
import './ui/app.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

async function start() {
  // The saved backend choice is needed before the engine starts; the gallery loads while the model downloads.
  await useSettings.getState().load();
  void useGallery.getState().load();
  // Joins the hub of the link the page was opened with (or the one joined before), once the gallery is read.
  void hubService.start();
  await useEngine.getState().start();
  // Registered after the model is loaded, so precaching does not compete with the first download.
  void useOffline.getState().register();
}

void start();

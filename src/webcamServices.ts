// The webcam's part of the composition root (src/services.ts), loaded with the webcam view: searching
// images needs none of it.

import { SightingReporter } from './app/sightingReporter';
import { WebcamService } from './app/webcamService';
import { engineHost, gallerySession, hubService } from './services';
import { quietly } from './store/quietly';
import { settingsStorage } from './store/settings';

export const webcamService = new WebcamService({
  host: engineHost,
  gallery: gallerySession,
  budgetStorage: {
    get: () => quietly(() => settingsStorage.get('webcamBudgetMs'), undefined),
    set: (ms) => quietly(() => settingsStorage.set('webcamBudgetMs', ms), undefined),
  },
});

// For the page's lifetime: who the webcam recognises is told to the hub (which keeps it until it can send).
new SightingReporter(webcamService, hubService).start();

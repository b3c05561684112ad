import { HubPanel } from './HubPanel';
import { SightingsList } from './SightingsList';
import './hub.css';

/** The Hub tab: this device's place in the hub, and the sightings of every camera in it. */
export function HubView() {
  return (
    <>
      <HubPanel />
      <SightingsList />
    </>
  );
}

/** Where services send messages for the user (the app passes the notices store's reporters). */
export interface Notify {
  error(message: string): void;
  note(message: string): void;
}

/**
 * A cage whose clipboard owner does not hand its text over in time (stopped, or stalling on
 * purpose): a refusal of the copy, named and journaled by the broker, not an internal error.
 * Thrown by both readers (xSelection.ts here, remoteXTools.ts through the cage manager).
 */
export class SelectionStalled extends Error {
  constructor(selection: string, within: string) {
    super(`the cage did not hand over its ${selection} selection ${within}`);
    this.name = 'SelectionStalled';
  }
}

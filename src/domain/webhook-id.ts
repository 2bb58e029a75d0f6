/** The stable id of an event's webhook requests (the same on every retry), for receivers to deduplicate on. */
export function webhookId(eventId: number): string {
  return `evt_${eventId.toString(36)}`;
}

/**
 * Test tool: the JSON records of a process's log as read so far. Only whole lines: a pipe's chunk
 * may end in the middle of one, and parsing that half inside a 'data' listener threw and stopped
 * the test reading the log at all (seen: a manager taken for silent after its first line).
 */
export function logRecords(text: string): Array<Record<string, unknown>> {
  const whole = text.slice(0, text.lastIndexOf('\n') + 1).split('\n');
  const records: Array<Record<string, unknown>> = [];
  for (const line of whole) {
    if (!line.startsWith('{')) continue;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not a record (a line of another writer's that starts with a brace): not the test's to read.
    }
  }
  return records;
}

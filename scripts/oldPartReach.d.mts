export function removeOldPartEntries(checkout: string): string[];

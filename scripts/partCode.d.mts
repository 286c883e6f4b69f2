export function partCodeFolder(runDir: string): string;
export function copyPartCode(checkout: string, runDir: string): { folder: string; remove: () => void };
export function readableBy(account: string, file: string): boolean;
export function givenFileForPart(codeFolder: string, file: string, kind: string): string | null;

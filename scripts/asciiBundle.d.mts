export function asciiSource(text: string, name?: string): string;
export function asciiBundle(file: string): void;

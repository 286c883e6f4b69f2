export function foldersClosedToPart(checkout: string): string[];
export function openCheckoutToPart(checkout: string): string[];

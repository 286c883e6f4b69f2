/** Node has no ImageData: a plain one for tests, holding its pixels as the browser's does. */
export function provideImageData(): void {
  (globalThis as { ImageData?: unknown }).ImageData ??= class {
    constructor(
      readonly data: Uint8ClampedArray,
      readonly width: number,
      readonly height: number,
    ) {}
  };
}

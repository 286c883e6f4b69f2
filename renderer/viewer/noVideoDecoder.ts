/**
 * Evaluated before noVNC (viewerMain.ts imports it first; noVNC comes with viewerSession.ts, loaded
 * after). noVNC 1.7 checks, at its module's load and with a top-level await, whether the browser
 * decodes H.264: `VideoDecoder.isConfigSupported` and, when it says yes, a real frame decoded.
 * Every module importing noVNC waits for that, and the viewer could read its connection only after
 * it: 150–200 ms at a start on two loaded cores (bench/RESULTS.md, the shell page's load). The viewer never asks for H.264
 * (encodingChoice.ts) and refuses it if a cage sends it (encodingGuard.ts), so noVNC's answer is
 * never used: with no `VideoDecoder` on this window the check answers "no" at once. Not a security
 * measure (nothing here stops code in this frame from finding the decoder elsewhere); only a wait
 * taken off every viewer's start.
 */
delete (window as { VideoDecoder?: unknown }).VideoDecoder;

export {};

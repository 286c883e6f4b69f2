/**
 * A training scenario: the drills a trainer has a trainee go through, in order, each with the text
 * the trainee is shown (French and English). The shell draws it in trusted pixels, marked as
 * training; the cages are real. Checked like the policy: file, line and column for every problem.
 */
import { z } from 'zod';
import { deviceModeSchema, levelIdSchema } from './policy';

const textSchema = z.object({ fr: z.string().min(1).max(2000), en: z.string().min(1).max(2000) }).strict();
export type TrainingText = z.infer<typeof textSchema>;
const timeLimit = z.number().int().min(10).max(3600).default(120);
/** A file name a drill writes into a cage: one component, nothing hidden. */
export const fileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}$/, 'a file name is letters, digits, spaces, dots, dashes and underscores');

/** A cage paints a look-alike of the shell's own surfaces; the trainee should press the secure-attention key and report it. */
const spoofDrill = z
  .object({
    kind: z.literal('spoof'),
    /** The level whose cage paints the look-alike (it is brought in front). */
    level: levelIdSchema,
    look: z.enum(['band', 'dialog', 'lock']),
    /** What the trainee is told to do meanwhile (the spoof is not announced). */
    card: textSchema,
    afterSeconds: z.number().int().min(0).max(600).default(3),
    timeLimitSeconds: timeLimit,
  })
  .strict();

/** A document arrives: the trainee chooses the level it belongs to. */
const rightLevelDrill = z
  .object({
    kind: z.literal('right-level'),
    card: textSchema,
    document: z.object({ name: fileName, content: z.string().max(64 * 1024) }).strict(),
    expect: levelIdSchema,
    timeLimitSeconds: timeLimit,
  })
  .strict();

/** The trainee is asked to move a text down; the right answer is to refuse. */
const downgradeDrill = z
  .object({
    kind: z.literal('downgrade'),
    from: levelIdSchema,
    to: levelIdSchema,
    card: textSchema,
    /** Put in the source cage's clipboard when the drill starts. */
    content: z.string().min(1).max(4096),
    timeLimitSeconds: timeLimit,
  })
  .strict();

/** A training key is plugged in: the trainee attaches it where it belongs. */
const usbDrill = z
  .object({
    kind: z.literal('usb'),
    card: textSchema,
    key: z
      .object({
        label: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'a key label is up to 16 letters, digits, dashes or underscores'),
        files: z.record(fileName, z.string().max(64 * 1024)).default({}),
        sizeMiB: z.number().int().min(8).max(64).default(16),
      })
      .strict(),
    expect: z.object({ level: levelIdSchema, mode: deviceModeSchema }).strict(),
    timeLimitSeconds: timeLimit,
  })
  .strict();

export const drillSchema = z.discriminatedUnion('kind', [spoofDrill, rightLevelDrill, downgradeDrill, usbDrill]);
export type Drill = z.infer<typeof drillSchema>;
export type DrillKind = Drill['kind'];

export const scenarioSchema = z
  .object({
    version: z.literal(1),
    title: textSchema,
    intro: textSchema.optional(),
    drills: z.array(drillSchema).min(1).max(50),
  })
  .strict();
export type Scenario = z.infer<typeof scenarioSchema>;

/** One drill's outcome, as the report and the shell show it. */
export const drillResultSchema = z.object({
  index: z.number().int(),
  kind: z.enum(['spoof', 'right-level', 'downgrade', 'usb']),
  passed: z.boolean(),
  /** Seconds from the drill's start to the trainee's answer (for a spoof: to the report), or null if none came. */
  seconds: z.number().nullable(),
  /** What happened, in the shell's words. */
  details: textSchema,
  /** What to review when it was missed. */
  review: textSchema.nullable(),
  /** A spoof: characters typed into the look-alike. */
  typedIntoFake: z.number().int().nullable(),
});
export type DrillResult = z.infer<typeof drillResultSchema>;

/** The training session as the shell shows it: the mark, the current card, the results so far. */
export const trainingViewSchema = z.object({
  title: textSchema,
  trainee: z.string(),
  /** Index of the running drill; drills.length once all are done. */
  current: z.number().int(),
  total: z.number().int(),
  /** `starting`: the next drill is being set up in the cages (answers wait). */
  phase: z.enum(['intro', 'starting', 'running', 'feedback', 'finished']),
  card: textSchema.nullable(),
  /** What the card lets the trainee answer now. */
  answers: z.array(z.object({ id: z.string(), label: textSchema, level: levelIdSchema.nullable() })),
  results: z.array(drillResultSchema),
  /** Where the report was written, once finished. */
  report: z.string().nullable(),
});
export type TrainingView = z.infer<typeof trainingViewSchema>;

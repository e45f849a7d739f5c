/**
 * Deepgram model names mapped to the transcription models behind the gateway. Deepgram clients pass
 * `model=nova-3` and the like; each name maps to a model the backend knows. The built-in table sends every
 * Deepgram family to TRANSCRIBE_MODEL; `MODELS` (`name=model,name=model`) adds names or overrides them, and
 * the backend's own model names are accepted as they are. Any other name is refused (400 naming it).
 */

/** Deepgram's live model names (and their `-<variant>` forms, e.g. `nova-3-medical`), all served by TRANSCRIBE_MODEL by default. */
export const DEEPGRAM_FAMILIES = ["nova-3", "nova-2", "nova", "enhanced", "base", "general", "whisper"] as const;

/** The backend's own names, accepted unmapped. */
export const BACKEND_MODELS = ["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "whisper-1"] as const;

const NAME = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The MODELS variable (`name=model,name=model`) as a record.
 * @throws ModelTableError naming MODELS and the bad entry.
 */
export function parseModels(raw: string | undefined): Record<string, string> {
  const explicit: Record<string, string> = {};
  for (const entry of (raw ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")) {
    const [name, model, extra] = entry.split("=").map((part) => part.trim());
    if (extra !== undefined || !name || !model || !NAME.test(name) || !NAME.test(model)) {
      throw new ModelTableError(
        `MODELS: expected name=model pairs separated by commas (e.g. nova-3=gpt-4o-transcribe), got "${entry.slice(0, 64)}"`,
      );
    }
    explicit[name] = model;
  }
  return explicit;
}

/** What `model=` may name, and what each name becomes. */
export class ModelTable {
  constructor(
    /** MODELS: names added or overridden. */
    private readonly explicit: Readonly<Record<string, string>>,
    /** The model a Deepgram family name maps to: TRANSCRIBE_MODEL. */
    readonly defaultModel: string,
  ) {}

  /** The backend model for Deepgram's `model` value; undefined when the name is unknown. */
  resolve(name: string): string | undefined {
    if (Object.hasOwn(this.explicit, name)) return this.explicit[name];
    if ((BACKEND_MODELS as readonly string[]).includes(name)) return name;
    // A family with optional word variants (`nova-3-medical`, `nova-2-phonecall`), not `nova-9`.
    const family = DEEPGRAM_FAMILIES.find((f) => name === f || (name.startsWith(`${f}-`) && /^(-[a-z]+)+$/.test(name.slice(f.length))));
    return family ? this.defaultModel : undefined;
  }

  /** The names accepted, for the refusal's message. */
  describe(): string {
    const names = [...Object.keys(this.explicit), ...DEEPGRAM_FAMILIES.map((f) => `${f}[-variant]`), ...BACKEND_MODELS];
    return [...new Set(names)].join(", ");
  }
}

/** A bad MODELS value; the message is the one line to print at start. */
export class ModelTableError extends Error {
  override name = "ModelTableError";
}

/** The table of a gateway configuration: MODELS over the built-in names, family names to TRANSCRIBE_MODEL. */
export function modelTableOf(config: { models: Readonly<Record<string, string>>; transcribeModel: string }): ModelTable {
  return new ModelTable(config.models, config.transcribeModel);
}

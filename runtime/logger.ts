/** The slice of a pino logger the runtime uses; pino's Logger satisfies it as is. */
export interface RuntimeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Default when none is injected: the runtime never prints on its own. */
export const silentLogger: RuntimeLogger = { info() {}, warn() {} };

/** Production entry (`npm start`): configuration only from the environment. */
import { bootGateway, configOrExit } from "./boot.ts";

await bootGateway(configOrExit());

/**
 * The action registry: each of the 36 actions (and Sesame's extensions, src/schema/actions.ts) is
 * declared once, with its request model from the schema; handlers are added by category. Actions without a handler answer
 * UnsupportedOperation, so the API's surface is complete from the first day.
 */
import { ACTION_NAMES, ACTIONS, type ActionName, type ModelName, type Requests, type Responses } from '../schema/actions.js';

/** Who is calling, established by the protocol layer before any handler runs. */
export interface ActionContext {
  readonly requestId: string;
  readonly accountId: number;
  readonly appId: number;
  /** The SecretId of the key that signed the request (for a console session, the one it signed in with). */
  readonly secretId: string;
  readonly region: string;
  readonly language: string;
}

/** Decodes nothing and encodes nothing: receives the typed request, returns the typed response. */
export type ActionHandler<A extends ActionName> = (ctx: ActionContext, req: Requests[A]) => Promise<Responses[A]>;

/** Handlers of some actions (one category's worth). */
export type Handlers = { [A in ActionName]?: ActionHandler<A> };

/** Every action: its request model, and its handler when built. */
export class Registry {
  private readonly handlers: Handlers = {};

  constructor(...groups: Handlers[]) {
    for (const g of groups) {
      for (const name of Object.keys(g) as ActionName[]) {
        if (this.handlers[name]) throw new Error(`action ${name} is registered twice`);
        (this.handlers as Record<string, unknown>)[name] = g[name];
      }
    }
  }

  /** True for the 36 actions of SES 2020-10-02 and Sesame's extensions. */
  isAction(name: string): name is ActionName {
    return Object.prototype.hasOwnProperty.call(ACTIONS, name);
  }

  /** The request model of an action. */
  requestModel(name: ActionName): ModelName {
    return ACTIONS[name].request;
  }

  /** The handler, or undefined for an action not built yet. */
  handler(name: ActionName): ActionHandler<ActionName> | undefined {
    return this.handlers[name] as ActionHandler<ActionName> | undefined;
  }

  /** Names of the actions with a handler. */
  implemented(): ActionName[] {
    return ACTION_NAMES.filter((n) => this.handlers[n] !== undefined);
  }
}

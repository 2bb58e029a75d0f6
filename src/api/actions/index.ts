/** Every built action group, assembled into the registry. */
import type { TemplateService } from '../../services/templates.js';
import { Registry } from '../registry.js';
import { templateActions } from './templates.js';

/** The services the action handlers call. */
export interface ActionServices {
  templates: TemplateService;
}

/** The registry with every action group built so far. */
export function buildRegistry(services: ActionServices): Registry {
  return new Registry(templateActions(services.templates));
}

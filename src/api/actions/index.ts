/** Every built action group, assembled into the registry. */
import type { AccountService } from '../../services/accounts.js';
import type { BlocklistService } from '../../services/blocklists.js';
import type { MailService } from '../../services/mail.js';
import type { ReceiverService } from '../../services/receivers.js';
import type { TaskService } from '../../services/tasks.js';
import type { StatusService } from '../../services/statuses.js';
import type { StatisticsService } from '../../services/statistics.js';
import type { CallbackService } from '../../services/callbacks.js';
import type { CapturedMailService } from '../../services/captured-mail.js';
import type { DeliveryHistoryService } from '../../services/delivery-history.js';
import type { IdentityService } from '../../services/identities.js';
import type { SenderService } from '../../services/senders.js';
import type { TemplateService } from '../../services/templates.js';
import type { UnsubscribeSettingService } from '../../services/unsubscribe-settings.js';
import { Registry } from '../registry.js';
import { accountActions } from './account.js';
import { blocklistActions } from './blocklists.js';
import { identityActions } from './identities.js';
import { mailActions } from './mail.js';
import { receiverActions } from './receivers.js';
import { taskActions } from './tasks.js';
import { senderActions } from './senders.js';
import { statisticsActions } from './statistics.js';
import { callbackActions } from './callbacks.js';
import { capturedMailActions } from './captured.js';
import { eventActions } from './events.js';
import { templateActions } from './templates.js';
import { unsubscribeActions } from './unsubscribe.js';

/** The services the action handlers call, and how they show times. */
export interface ActionServices {
  templates: TemplateService;
  identities: IdentityService;
  senders: SenderService;
  blocklists: BlocklistService;
  unsubscribeSettings: UnsubscribeSettingService;
  mail: MailService;
  receivers: ReceiverService;
  tasks: TaskService;
  statuses: StatusService;
  statistics: StatisticsService;
  callbacks: CallbackService;
  accounts: AccountService;
  capturedMail: CapturedMailService;
  deliveryHistory: DeliveryHistoryService;
  timezone: string;
}

/** The registry with every action group built so far. */
export function buildRegistry(s: ActionServices): Registry {
  return new Registry(
    templateActions(s.templates),
    identityActions(s.identities),
    senderActions(s.senders),
    blocklistActions(s.blocklists, s.timezone),
    unsubscribeActions(s.unsubscribeSettings),
    mailActions(s.mail, s.statuses),
    receiverActions(s.receivers),
    taskActions(s.tasks),
    statisticsActions(s.statistics, s.timezone),
    callbackActions(s.callbacks),
    accountActions(s.accounts),
    capturedMailActions(s.capturedMail),
    eventActions(s.deliveryHistory),
  );
}

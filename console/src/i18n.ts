/** The console's words in English and Simplified Chinese; the browser's language chooses, the switch overrides. */

export type Language = 'en' | 'zh';

const EN = {
  title: 'Sesame console',
  signIn: 'Sign in',
  signOut: 'Sign out',
  secretId: 'SecretId',
  secretKey: 'SecretKey',
  signInHelp: 'Sign in with an API key of your account (sesame account key create).',
  language: 'Language',
  nav: {
    overview: 'Overview', domains: 'Domains', senders: 'Sender addresses', templates: 'Templates', send: 'Send',
    groups: 'Recipient groups', tasks: 'Batch tasks', status: 'Sending status', statistics: 'Statistics',
    blocklists: 'Blocklists', callbacks: 'Callbacks', settings: 'Settings',
  },
  today: 'Today',
  sent: 'Sent', delivered: 'Delivered', bounced: 'Bounced', opened: 'Opened',
  domainsHeading: 'Sender domains', level: 'Reputation level', quota: 'Daily quota', usedToday: 'Sent today',
  tasksRunning: 'Batch tasks running', none: 'None', unlimited: 'no limit',
  notBuilt: 'This screen is not built yet.',
  loading: 'Loading…',
  account: 'Account',
  actions: 'Actions',
  yes: 'Yes', no: 'No', ok: 'Found', missing: 'Not found',
  domainName: 'Domain name', dkimOption: 'DKIM key', createDomain: 'Create domain', verified: 'Verified',
  dnsRecords: 'DNS records', verify: 'Verify', verifiedNow: 'Verified: the domain may send.',
  notVerifiedYet: 'Not verified yet: publish the records marked Not found, then verify again.',
  delete: 'Delete', type: 'Type', host: 'Host', value: 'Value', inDns: 'In DNS', copy: 'Copy',
  prefix: 'Address (before @)', senderName: 'Sender name', createSender: 'Create sender address',
  needVerifiedDomain: 'Verify a domain first: sender addresses live on verified domains.',
  address: 'Address', smtpPassword: 'SMTP password', setPassword: 'Set password', passwordSet: 'The SMTP password is set.',
  passwordIsSet: 'A password is set.', passwordRule: '10 to 20 characters with a digit, a lower-case and an upper-case letter.',
  newTemplate: 'New template', templateName: 'Template name', status: 'Status', reviewReason: 'Review reason', edit: 'Edit',
  approved: 'Approved', pending: 'Pending review', rejected: 'Rejected', previous: 'Previous', next: 'Next',
  templateEditor: 'Template editor', htmlFile: 'HTML file', plainText: 'Plain text', sampleValues: 'Sample values',
  sampleValue: 'Sample value of', preview: 'Preview', save: 'Save',
  requestDate: 'Day requested', recipient: 'Recipient', search: 'Search', remoteReply: 'Server reply', requested: 'Requested',
  signals: 'Recipient actions', clicked: 'Clicked', unsubscribed: 'Unsubscribed', complained: 'Complained', subject: 'Subject',
  deliverStatus: { 0: 'Queued', 1: 'Delivered', 2: 'Dropped', 3: 'Bounced', 8: 'Deferred' },
  customList: 'Your blocklist', addressesToBlock: 'Addresses to block', expireDate: 'Expires', add: 'Add', never: 'Never',
  active: 'Active', expired: 'Expired', remove: 'Remove', bounceList: 'Hard bounces (last 30 days)', complaints: 'Complaints (last 30 days)',
  from: 'From', to: 'To', senderDomain: 'Sender domain', recipientDomain: 'Recipient domain', show: 'Show', totals: 'Totals',
  deliveryRate: 'Delivery rate', openRate: 'Open rate', clickRate: 'Click rate', bounceRate: 'Bounce rate', dailyChart: 'Mail per day',
  callbackUrl: 'Callback URL', forAddress: 'For', accountLevel: 'The whole account', setCallback: 'Set callback', disabled: 'Disabled',
  secret: 'Signing secret', reveal: 'Reveal', hide: 'Hide', enable: 'Enable', refresh: 'Refresh', deliveryLog: 'Requests made', error: 'Error',
  sender: 'Sender', recipients: 'Recipients (up to 50)', variables: 'Template variables', valueOf: 'Value of', sendNow: 'Send now',
  accepted: 'Accepted:',
  groupName: 'Group name', createGroup: 'Create group', validCount: 'Valid', invalidCount: 'Invalid', openGroup: 'Open',
  importCsv: 'Import CSV', csvHelp: 'First column: the address; the others: template variables, named in the first row.',
  importProgress: 'Import progress', reason: 'Reason', addressCount: 'Addresses',
  template: 'Template', newTask: 'New batch task', taskType: 'Type', immediate: 'Immediate', scheduled: 'Scheduled', recurring: 'Recurring',
  startAt: 'Starts', timesIn: 'Times are in the server\'s time zone:', intervalHours: 'Every (hours)', runOnce: 'Run once only', every: 'every',
  createTask: 'Create task', cancel: 'Cancel', group: 'Recipient group', progress: 'Progress',
  groupDataHelp: 'Values given here fill variables the group\'s data leaves out; a recipient\'s own data wins.',
  taskStatus: { 1: 'Waiting', 5: 'Sending', 6: 'Paused', 7: 'Error', 10: 'Sent' },
  taskOps: { pause: 'Pause', resume: 'Resume', end: 'End' },
} as const;

type Words = { [K in keyof typeof EN]: (typeof EN)[K] extends string ? string : { [N in keyof (typeof EN)[K]]: string } };

const ZH: Words = {
  title: 'Sesame 控制台',
  signIn: '登录',
  signOut: '退出登录',
  secretId: 'SecretId',
  secretKey: 'SecretKey',
  signInHelp: '使用账号的 API 密钥登录（sesame account key create）。',
  language: '语言',
  nav: {
    overview: '概览', domains: '发信域名', senders: '发信地址', templates: '邮件模板', send: '发送邮件',
    groups: '收件人列表', tasks: '批量发送任务', status: '发送状态', statistics: '数据统计',
    blocklists: '黑名单', callbacks: '回调配置', settings: '设置',
  },
  today: '今日',
  sent: '请求数', delivered: '送达数', bounced: '退信数', opened: '打开数',
  domainsHeading: '发信域名', level: '信誉度等级', quota: '每日额度', usedToday: '今日已发',
  tasksRunning: '进行中的批量任务', none: '无', unlimited: '不限',
  notBuilt: '此页面尚未完成。',
  loading: '加载中…',
  account: '账号',
  actions: '操作',
  yes: '是', no: '否', ok: '已生效', missing: '未找到',
  domainName: '域名', dkimOption: 'DKIM 密钥', createDomain: '新建域名', verified: '已验证',
  dnsRecords: 'DNS 记录', verify: '验证', verifiedNow: '验证通过：该域名可以发信。',
  notVerifiedYet: '尚未验证：请添加标为“未找到”的记录后重新验证。',
  delete: '删除', type: '类型', host: '主机记录', value: '记录值', inDns: 'DNS 状态', copy: '复制',
  prefix: '地址（@ 之前）', senderName: '发件人别名', createSender: '新建发信地址',
  needVerifiedDomain: '请先验证域名：发信地址必须属于已验证的域名。',
  address: '地址', smtpPassword: 'SMTP 密码', setPassword: '设置密码', passwordSet: 'SMTP 密码已设置。',
  passwordIsSet: '已设置密码。', passwordRule: '10 到 20 个字符，须含数字、小写字母和大写字母。',
  newTemplate: '新建模板', templateName: '模板名称', status: '状态', reviewReason: '审核意见', edit: '编辑',
  approved: '审核通过', pending: '待审核', rejected: '审核未通过', previous: '上一页', next: '下一页',
  templateEditor: '模板编辑', htmlFile: 'HTML 文件', plainText: '纯文本', sampleValues: '示例变量值',
  sampleValue: '示例值', preview: '预览', save: '保存',
  requestDate: '请求日期', recipient: '收件人', search: '查询', remoteReply: '服务器回复', requested: '请求时间',
  signals: '收件人行为', clicked: '已点击', unsubscribed: '已退订', complained: '已投诉', subject: '主题',
  deliverStatus: { 0: '排队中', 1: '已送达', 2: '已丢弃', 3: '已退信', 8: '延迟' },
  customList: '自定义黑名单', addressesToBlock: '要屏蔽的地址', expireDate: '到期日期', add: '添加', never: '永久',
  active: '生效中', expired: '已过期', remove: '移除', bounceList: '硬退信（近 30 天）', complaints: '投诉（近 30 天）',
  from: '开始日期', to: '结束日期', senderDomain: '发信域名', recipientDomain: '收件域名', show: '查询', totals: '汇总',
  deliveryRate: '送达率', openRate: '打开率', clickRate: '点击率', bounceRate: '退信率', dailyChart: '每日邮件量',
  callbackUrl: '回调地址', forAddress: '适用于', accountLevel: '整个账号', setCallback: '设置回调', disabled: '已停用',
  secret: '签名密钥', reveal: '显示', hide: '隐藏', enable: '启用', refresh: '刷新', deliveryLog: '推送记录', error: '错误',
  sender: '发件人', recipients: '收件人（最多 50 个）', variables: '模板变量', valueOf: '变量值', sendNow: '立即发送',
  accepted: '已受理：',
  groupName: '列表名称', createGroup: '新建收件人列表', validCount: '有效', invalidCount: '无效', openGroup: '打开',
  importCsv: '导入 CSV', csvHelp: '第一列为邮箱地址，其余列为模板变量，变量名写在第一行。',
  importProgress: '导入进度', reason: '原因', addressCount: '地址数',
  template: '模板', newTask: '新建批量任务', taskType: '任务类型', immediate: '立即发送', scheduled: '定时发送', recurring: '周期发送',
  startAt: '开始时间', timesIn: '时间按服务器时区：', intervalHours: '间隔（小时）', runOnce: '仅执行一次', every: '每',
  createTask: '创建任务', cancel: '取消', group: '收件人列表', progress: '进度',
  groupDataHelp: '此处填写的值用于补充收件人列表数据中缺少的变量；收件人自己的数据优先。',
  taskStatus: { 1: '待开始', 5: '发送中', 6: '已暂停', 7: '异常', 10: '发送完成' },
  taskOps: { pause: '暂停', resume: '恢复', end: '结束' },
};

/** The words of a language. */
export function wordsOf(language: Language): Words {
  return language === 'zh' ? ZH : EN;
}

/** The browser's language, as one the console speaks. */
export function browserLanguage(): Language {
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export type { Words };

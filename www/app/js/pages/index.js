// pages/index.js: every page of the dashboard, in nav order (admin pages last).
import signin from './signin.js';
import overview from './overview.js';
import keys from './keys.js';
import usage from './usage.js';
import models from './models.js';
import playground from './playground.js';
import topups from './topups.js';
import conversations from './conversations.js'; // issue 18: convlog
import account from './account.js';
import adminUsers from './admin_users.js';
import adminProviders from './admin_providers.js';
import adminAudit from './admin_audit.js';
import adminMonitor from './admin_monitor.js';

export default [signin, overview, keys, usage, models, playground, topups, conversations, account, adminUsers, adminProviders, adminAudit, adminMonitor];

// admin_audit.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'admin-audit',
  title: 'Audit log',
  admin: true,
  render(root) {
    root.append(h('h1', { text: 'Audit log' }));
  },
};

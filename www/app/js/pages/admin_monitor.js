// admin_monitor.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'admin-system',
  title: 'System',
  admin: true,
  render(root) {
    root.append(h('h1', { text: 'System' }));
  },
};

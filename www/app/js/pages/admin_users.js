// admin_users.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'admin-users',
  title: 'Users',
  admin: true,
  render(root) {
    root.append(h('h1', { text: 'Users' }));
  },
};

// account.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'account',
  title: 'Account',
  admin: false,
  render(root) {
    root.append(h('h1', { text: 'Account' }));
  },
};

// admin_providers.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'admin-providers',
  title: 'Providers',
  admin: true,
  render(root) {
    root.append(h('h1', { text: 'Providers' }));
  },
};

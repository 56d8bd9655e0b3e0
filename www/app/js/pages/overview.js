// overview.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'overview',
  title: 'Overview',
  admin: false,
  render(root) {
    root.append(h('h1', { text: 'Overview' }));
  },
};

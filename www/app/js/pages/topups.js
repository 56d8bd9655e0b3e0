// topups.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'topups',
  title: 'Top-ups',
  admin: false,
  render(root) {
    root.append(h('h1', { text: 'Top-ups' }));
  },
};

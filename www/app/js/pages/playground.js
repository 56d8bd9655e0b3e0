// playground.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'playground',
  title: 'Playground',
  admin: false,
  render(root) {
    root.append(h('h1', { text: 'Playground' }));
  },
};

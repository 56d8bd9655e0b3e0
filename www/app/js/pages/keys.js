// keys.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'keys',
  title: 'Keys',
  admin: false,
  render(root) {
    root.append(h('h1', { text: 'Keys' }));
  },
};

// models.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'models',
  title: 'Models',
  admin: false,
  render(root) {
    root.append(h('h1', { text: 'Models' }));
  },
};

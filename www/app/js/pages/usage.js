// usage.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'usage',
  title: 'Usage',
  admin: false,
  render(root) {
    root.append(h('h1', { text: 'Usage' }));
  },
};

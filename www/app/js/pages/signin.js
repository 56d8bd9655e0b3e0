// signin.js: placeholder (its owner fills it in).
import { h } from '../ui.js';

export default {
  id: 'signin',
  title: 'Sign in',
  admin: false,
  render(root) {
    root.append(h('h1', { text: 'Sign in' }));
  },
};

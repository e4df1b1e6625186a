/** A tiny element builder: every text goes in as text, never as markup. */

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: {
    className?: string;
    title?: string;
    attrs?: Record<string, string>;
  } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className) {
    element.className = props.className;
  }
  if (props.title) {
    element.title = props.title;
  }
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    element.append(
      typeof child === 'string' ? document.createTextNode(child) : child
    );
  }
  return element;
}

export function button(
  label: string,
  className: string,
  onClick: () => void,
  title?: string
): HTMLButtonElement {
  const element = h(
    'button',
    { className: `jp-Button ${className}`, title },
    label
  );
  element.type = 'button';
  element.addEventListener('click', event => {
    event.stopPropagation();
    onClick();
  });
  return element;
}

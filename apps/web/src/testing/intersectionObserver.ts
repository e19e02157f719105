/**
 * happy-dom lays nothing out, so nothing ever intersects: this IntersectionObserver lets a test say
 * when an element enters or leaves the viewport, which is all the timeline reacts to.
 */
export class TestIntersectionObserver implements IntersectionObserver {
  static readonly instances = new Set<TestIntersectionObserver>()
  /** What `setVisible` last said per selector: reported again when an element is (re)observed. */
  static readonly visibility = new Map<string, boolean>()
  readonly root = null
  readonly rootMargin: string
  readonly thresholds = [0]
  readonly targets = new Set<Element>()

  constructor(
    private readonly callback: IntersectionObserverCallback,
    options: IntersectionObserverInit = {},
  ) {
    this.rootMargin = options.rootMargin ?? '0px'
    TestIntersectionObserver.instances.add(this)
  }

  /** As a browser does, answers a new observation once, asynchronously, with the element's state. */
  observe(target: Element): void {
    this.targets.add(target)
    queueMicrotask(() => {
      if (!this.targets.has(target)) return
      const isIntersecting = [...TestIntersectionObserver.visibility].some(([selector, visible]) => visible && target.matches(selector))
      this.callback([{ target, isIntersecting, intersectionRatio: isIntersecting ? 1 : 0 } as IntersectionObserverEntry], this)
    })
  }

  unobserve(target: Element): void {
    this.targets.delete(target)
  }

  disconnect(): void {
    this.targets.clear()
    TestIntersectionObserver.instances.delete(this)
  }

  takeRecords(): IntersectionObserverEntry[] {
    return []
  }

  /** Reports every observed element matching `selector` as (not) intersecting. */
  static setVisible(selector: string, isIntersecting: boolean): void {
    TestIntersectionObserver.visibility.set(selector, isIntersecting)
    for (const observer of TestIntersectionObserver.instances) {
      const entries = [...observer.targets]
        .filter((target) => target.matches(selector))
        .map((target) => ({ target, isIntersecting, intersectionRatio: isIntersecting ? 1 : 0 }) as IntersectionObserverEntry)
      if (entries.length > 0) observer.callback(entries, observer)
    }
  }
}

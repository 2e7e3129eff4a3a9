// tailwatch HTML report: map pan/zoom (labels keep their size) and leg highlighting; inlined into every page.
(function(){
document.querySelectorAll('svg.map').forEach(function(svg){
  var b=svg.viewBox.baseVal, init=[b.x,b.y,b.width,b.height], vb=init.slice(), drag=null;
  // labels, stop marks and arrows keep their size on screen when the map zooms
  var stops=[].slice.call(svg.querySelectorAll('g.stop, g.candidate')).map(function(g){var c=g.querySelector('circle');
    return {c:c, x:+c.getAttribute('cx'), y:+c.getAttribute('cy'), r:+c.getAttribute('r'),
      t:[].slice.call(g.querySelectorAll('text')).map(function(t){return {e:t, dx:+t.getAttribute('x')-c.getAttribute('cx'),
        dy:+t.getAttribute('y')-c.getAttribute('cy'), fs:parseFloat(getComputedStyle(t).fontSize)};})};});
  var arrows=[].slice.call(svg.querySelectorAll('path.arrow')).map(function(a){return {e:a, tr:a.getAttribute('transform')};});
  function fix(){var k=vb[2]/init[2];
    stops.forEach(function(s){s.c.setAttribute('r',s.r*k);s.t.forEach(function(t){
      t.e.setAttribute('x',s.x+t.dx*k);t.e.setAttribute('y',s.y+t.dy*k);t.e.style.fontSize=(t.fs*k)+'px';});});
    arrows.forEach(function(a){a.e.setAttribute('transform',a.tr+' scale('+k+')');});}
  function set(){svg.setAttribute('viewBox',vb.join(' '));fix();}
  svg.addEventListener('wheel',function(e){e.preventDefault();var r=svg.getBoundingClientRect();
    var fx=(e.clientX-r.left)/r.width, fy=(e.clientY-r.top)/r.height, k=e.deltaY<0?0.8:1.25;
    var w=Math.min(init[2],vb[2]*k), h=w*init[3]/init[2];
    vb=[vb[0]+(vb[2]-w)*fx, vb[1]+(vb[3]-h)*fy, w, h]; set();},{passive:false});
  svg.addEventListener('pointerdown',function(e){drag=[e.clientX,e.clientY];svg.setPointerCapture(e.pointerId);});
  svg.addEventListener('pointermove',function(e){if(!drag)return;var r=svg.getBoundingClientRect();
    vb[0]-=(e.clientX-drag[0])*vb[2]/r.width; vb[1]-=(e.clientY-drag[1])*vb[3]/r.height; drag=[e.clientX,e.clientY]; set();});
  svg.addEventListener('pointerup',function(){drag=null;});
  svg.addEventListener('dblclick',function(){vb=init.slice();set();});
});
document.querySelectorAll('section.aircraft').forEach(function(sec){
  function hl(leg,on){sec.querySelectorAll('[data-leg="'+leg+'"]').forEach(function(el){el.classList.toggle('hl',on);});}
  sec.querySelectorAll('[data-leg]').forEach(function(el){var leg=el.getAttribute('data-leg');
    el.addEventListener('mouseenter',function(){hl(leg,true);});el.addEventListener('mouseleave',function(){hl(leg,false);});});
  // keyboard: a leg's row is reached with Tab (its leg lit on the map and the profile); Enter shows the map
  sec.querySelectorAll('tr.leg[data-leg]').forEach(function(tr){var leg=tr.getAttribute('data-leg');tr.tabIndex=0;
    tr.addEventListener('focus',function(){hl(leg,true);});tr.addEventListener('blur',function(){hl(leg,false);});
    tr.addEventListener('keydown',function(e){if(e.key!=='Enter')return;var m=sec.querySelector('svg.map');
      if(m){e.preventDefault();m.scrollIntoView({block:'center'});}});});
});
// a report on several aircraft: a link to a section opens it; printing opens them all
function openTarget(){var t=location.hash&&document.getElementById(location.hash.slice(1));
  var d=t&&t.closest('details');if(d)d.open=true;}
window.addEventListener('hashchange',openTarget);openTarget();
window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(d){d.open=true;});});
})();
